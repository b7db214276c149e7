/** Reading vault fields for injection and signing: a missing or unsendable one is a clear GATE_NO_SECRET. */
import { JaneeError } from '../errors.js';

export function requireField(fields: Readonly<Record<string, string>>, name: string, service: string, allowEmpty = false): string {
  const v = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
  if (v === undefined || (!allowEmpty && v === '')) {
    throw new JaneeError('GATE_NO_SECRET', `secret "${service}" has no ${name} field`, `run janee set ${service} to store it`);
  }
  return v;
}

export function optionalField(fields: Readonly<Record<string, string>>, name: string): string | undefined {
  const v = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
  return v === '' ? undefined : v;
}

/** A value that would break or split an HTTP header (CR, LF, NUL, other controls, non-latin1). */
export function assertHeaderSafe(v: string, service: string, name: string): void {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(v) || /[^\u0000-\u00ff]/.test(v)) {
    throw new JaneeError(
      'GATE_NO_SECRET',
      `secret "${service}" has a ${name} field that cannot be sent in an HTTP header (control or non-latin1 characters)`,
      `run janee set ${service} with the correct value`,
    );
  }
}
