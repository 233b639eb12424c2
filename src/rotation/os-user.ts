import { userInfo } from 'node:os';

/** The operating-system user of this process, for audit events (the CLI's operatingSystemUser, without importing the CLI). */
export function operatingSystemUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${String(process.getuid?.() ?? 'unknown')}`;
  }
}
