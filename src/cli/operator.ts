import { userInfo } from 'node:os';
import { CliError, EXIT_CONFIG, EXIT_USAGE } from './errors.ts';
import { refuseControlCharacters } from './text.ts';

/** Longest operator name: the audit log's actor label is `operator:<name>`, shown on one line. */
export const MAX_OPERATOR_NAME = 100;

/**
 * Who runs an admin command, as the audit log names them (`operator:<name>`): ROSTER_OPERATOR;
 * unset, the person who ran sudo (SUDO_USER: under `sudo roster …` the login name is root, which
 * names nobody); else the login name. `loginName` is the system's lookup (replaced in tests).
 */
export function operatorName(env: NodeJS.ProcessEnv = process.env, loginName: () => string = () => userInfo().username): string {
  if (env.ROSTER_OPERATOR) return checkedName(env.ROSTER_OPERATOR, 'ROSTER_OPERATOR');
  if (env.SUDO_USER?.trim()) return checkedName(env.SUDO_USER, 'SUDO_USER');
  let login: string;
  try {
    login = loginName();
  } catch {
    // In a container the uid often has no passwd entry: os.userInfo() throws (uv_os_get_passwd ENOENT).
    const uid = process.getuid?.();
    throw new CliError(
      `cannot tell who you are: ${uid === undefined ? 'this user' : `user id ${uid}`} has no login name (no passwd entry). ` +
        'Set ROSTER_OPERATOR to your name (the audit log records you as operator:<name>).',
      EXIT_CONFIG,
    );
  }
  return checkedName(login, 'your login name');
}

/** One line, not blank, at most MAX_OPERATOR_NAME characters; surrounding spaces dropped. */
function checkedName(value: string, source: string): string {
  // The audit log's actor label: one line, so it cannot forge entries in the text output.
  const name = refuseControlCharacters(value, source).trim();
  if (!name) throw new CliError(`${source} must name you: it is blank.`, EXIT_USAGE);
  if ([...name].length > MAX_OPERATOR_NAME) {
    throw new CliError(`${source} must be at most ${MAX_OPERATOR_NAME} characters.`, EXIT_USAGE);
  }
  return name;
}
