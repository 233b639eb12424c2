import { parseCidrList, type CidrBlock } from '../lib/cidr.js';
import {
  parseRuleSpecs,
  parseWorkingHours,
  RuleSettingError,
  type RuleSpecs,
  type WorkingHours,
} from './monitoring-rules.js';
import { ConfigError, type Env } from './readers.js';

/** Security monitoring settings (docs/monitoring.md). */
export interface MonitoringConfig {
  readonly rules: RuleSpecs;
  /** Working hours; null: no off-hours alerts. */
  readonly hours: WorkingHours | null;
  readonly webhook: { readonly url: string; readonly secret: string; readonly allow: readonly CidrBlock[] } | null;
  readonly syslog: {
    readonly transport: 'udp' | 'tcp';
    readonly host: string;
    readonly port: number;
    readonly facility: number;
    readonly appName: string;
  } | null;
}

function value(env: Env, name: string): string {
  return env[name]?.trim() ?? '';
}

function parsed<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RuleSettingError) throw new ConfigError(`${name} ${error.message}`);
    throw error;
  }
}

function webhook(env: Env): MonitoringConfig['webhook'] {
  const url = value(env, 'CADUCEUS_ALERT_WEBHOOK_URL');
  if (url === '') return null;
  if (!URL.canParse(url) || new URL(url).protocol !== 'https:')
    throw new ConfigError('CADUCEUS_ALERT_WEBHOOK_URL must be an https:// URL');
  if (new URL(url).username !== '' || new URL(url).password !== '')
    throw new ConfigError('CADUCEUS_ALERT_WEBHOOK_URL must not carry credentials');
  const secret = value(env, 'CADUCEUS_ALERT_WEBHOOK_SECRET');
  if (secret.length < 32)
    throw new ConfigError(
      'CADUCEUS_ALERT_WEBHOOK_SECRET must be set, at least 32 characters, when CADUCEUS_ALERT_WEBHOOK_URL is',
    );
  // The same CIDR parser as the edge's address lists (config/cidr.ts).
  const allow = parseCidrList(value(env, 'CADUCEUS_ALERT_WEBHOOK_ALLOW'));
  if (allow === null)
    throw new ConfigError('CADUCEUS_ALERT_WEBHOOK_ALLOW must list IP addresses or CIDR subnets, comma-separated');
  return { url, secret, allow };
}

/** RFC 5424 §6.2.1 facility names. */
const facilities = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

function syslog(env: Env): MonitoringConfig['syslog'] {
  const raw = value(env, 'CADUCEUS_ALERT_SYSLOG');
  if (raw === '') return null;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (url === null || !['udp:', 'tcp:'].includes(url.protocol) || url.hostname === '' || url.port === '') {
    throw new ConfigError('CADUCEUS_ALERT_SYSLOG must be udp://host:port or tcp://host:port');
  }
  const facilityName = value(env, 'CADUCEUS_ALERT_SYSLOG_FACILITY') || 'local0';
  const facility = facilities.indexOf(facilityName);
  if (facility < 0) throw new ConfigError(`CADUCEUS_ALERT_SYSLOG_FACILITY must be one of: ${facilities.join(', ')}`);
  const appName = value(env, 'CADUCEUS_ALERT_SYSLOG_APP_NAME') || 'caduceus';
  if (!/^[\x21-\x7e]{1,48}$/.test(appName))
    throw new ConfigError('CADUCEUS_ALERT_SYSLOG_APP_NAME must be 1 to 48 printable ASCII characters without spaces');
  return {
    transport: url.protocol === 'udp:' ? 'udp' : 'tcp',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port),
    facility,
    appName,
  };
}

/** Reads the monitoring settings from the environment (called by loadConfig only). */
export function loadMonitoringConfig(env: Env): MonitoringConfig {
  return {
    rules: parsed('CADUCEUS_ALERT_RULES', () => parseRuleSpecs(value(env, 'CADUCEUS_ALERT_RULES'))),
    hours: parsed('CADUCEUS_ALERT_HOURS', () => parseWorkingHours(value(env, 'CADUCEUS_ALERT_HOURS'))),
    webhook: webhook(env),
    syslog: syslog(env),
  };
}
