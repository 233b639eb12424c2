// The baseline: a bare Fastify JSON route over the same TLS 1.3 setup as Caduceus.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [certPath = '', keyPath = ''] = process.argv.slice(2);
const app = Fastify({ https: { cert: readFileSync(certPath), key: readFileSync(keyPath), minVersion: 'TLSv1.3' } });
const patient = {
  resourceType: 'Patient',
  id: 'bench',
  meta: { versionId: '1', lastUpdated: new Date().toISOString() },
  name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
  gender: 'male',
  birthDate: '1974-12-25',
};
app.get('/bare', () => patient);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ event: 'bare.listening', url: address })}\n`);
process.once('SIGTERM', () => {
  void app.close();
});
