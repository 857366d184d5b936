// Secrets can appear in links (invitation and verification tokens): never let one reach a log or
// an error column.
const SECRET = /rs_(sess|api|inv|ver)_[A-Za-z0-9_-]+/g;

export function redactSecrets(text: string): string {
  return text.replace(SECRET, 'rs_$1_[redacted]');
}
