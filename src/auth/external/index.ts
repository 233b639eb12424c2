export {
  createExternalIssuerProfiles,
  mapExternalClaims,
  mappedRole,
  type ExternalProfileDeps,
} from './external-profile.js';
export { IssuersFileError, parseIssuersFile, type ExternalIssuerConfig } from '../../config/external-issuers-file.js';
export { JwksFormatError, keysFromJwks } from './jwks-keys.js';
export { createRemoteJwks, type RemoteJwks, type RemoteJwksOptions } from './remote-jwks.js';
