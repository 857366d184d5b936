import { isEntryId } from '../core/cursor.ts';
import { CliError, EXIT_USAGE } from './errors.ts';

/**
 * The parser of every numeric option (`.option('--limit <n>', …, wholeNumber('--limit'), 50)`):
 * digits only, so `1.0`, `1e1`, `0x2`, `-1` and `abc` are refused as not whole numbers (exit 64)
 * instead of being read by Number() as something the operator did not type. Ranges are the
 * command's to check.
 */
export function wholeNumber(option: string): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new CliError(`${option} must be a whole number, not "${value}".`, EXIT_USAGE);
    return Number(value);
  };
}

/**
 * The parser of an option naming an audit entry (`--before 12` or `--before '#12'`, as the lists
 * print it): the id's digits, without the `#` (regression: the printed form was refused).
 */
export function entryId(option: string): (value: string) => string {
  return (value) => {
    const digits = value.trim().replace(/^#/, '');
    if (!isEntryId(digits)) {
      throw new CliError(`${option} must be the id of an entry as listed (#12 or 12), not "${value}".`, EXIT_USAGE);
    }
    return digits;
  };
}
