import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { Alert, AlertSeverity } from '../../storage/alerts.js';
import type { AlertSink } from '../alert-sink.js';

export interface SyslogSinkOptions {
  readonly transport: 'udp' | 'tcp';
  readonly host: string;
  readonly port: number;
  /** RFC 5424 §6.2.1 facility code, 0–23 (16 = local0). */
  readonly facility: number;
  /** APP-NAME field: 1–48 printable ASCII characters. */
  readonly appName: string;
  /** TCP connect-and-send limit (default 5000 ms). */
  readonly timeoutMs?: number;
  /** HOSTNAME field (default the machine's name). */
  readonly hostname?: string;
}

/** RFC 5424 §6.2.1 severities: critical 2, error 3, warning 4, notice 5. */
const severityCodes: Readonly<Record<AlertSeverity, number>> = { critical: 2, high: 3, medium: 4, low: 5 };

/** The private-enterprise SD-ID of our structured data (RFC 5424 §7.2.2; 32473 is the documentation number of RFC 5612). */
export const structuredDataId = 'caduceus@32473';

/** RFC 5424 §6.3.3: `"`, `\` and `]` are escaped inside PARAM-VALUE. */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (char) => `\\${char}`);
}

/** Header fields are PRINTUSASCII without spaces (§6); anything else becomes the NILVALUE. */
function headerField(value: string, max: number): string {
  return /^[\x21-\x7e]+$/.test(value) ? value.slice(0, max) : '-';
}

/**
 * One alert as an RFC 5424 message: PRI from facility and severity, the
 * alert's time, MSGID the alert kind, structured data with id, kind and
 * severity, and the alert's fixed summary as MSG (no PHI by construction).
 */
export function formatSyslogMessage(
  alert: Alert,
  options: { facility: number; appName: string; hostname: string; procId: number },
): string {
  const pri = options.facility * 8 + severityCodes[alert.severity];
  const data = `[${structuredDataId} id="${paramValue(alert.id)}" kind="${paramValue(alert.kind)}" severity="${paramValue(alert.severity)}"]`;
  return `<${pri}>1 ${alert.time} ${headerField(options.hostname, 255)} ${headerField(options.appName, 48)} ${options.procId} ${headerField(alert.kind, 32)} ${data} ${alert.summary}`;
}

function sendUdp(message: string, options: SyslogSinkOptions): Promise<void> {
  const socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.send(message, options.port, options.host, (error) => {
      socket.close();
      if (error === null) resolve();
      else reject(new Error(`syslog datagram not sent (${(error as Error & { code?: string }).code ?? error.name})`));
    });
  });
}

/**
 * RFC 6587 §3.4.1 octet counting over TCP. One connection per alert: alerts
 * are rare, and a connection per message needs no reconnection state.
 */
function sendTcp(message: string, options: SyslogSinkOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port });
    socket.setTimeout(options.timeoutMs ?? 5000, () => {
      socket.destroy(new Error('syslog connection timed out'));
    });
    socket.once('error', (error: Error & { code?: string }) => {
      reject(new Error(`syslog connection failed (${error.code ?? error.name})`));
    });
    socket.once('connect', () => {
      socket.end(`${Buffer.byteLength(message)} ${message}`, () => {
        resolve();
      });
    });
  });
}

/** The syslog sink (RFC 5424 over UDP or TCP). */
export function createSyslogSink(options: SyslogSinkOptions): AlertSink {
  const format = {
    facility: options.facility,
    appName: options.appName,
    hostname: options.hostname ?? osHostname(),
    procId: process.pid,
  };
  return {
    name: 'syslog',
    deliver(alert) {
      const message = formatSyslogMessage(alert, format);
      return options.transport === 'udp' ? sendUdp(message, options) : sendTcp(message, options);
    },
  };
}
