import { describe, expect, it } from 'vitest';
import { CliError, EXIT_CONFIG, EXIT_USAGE } from './errors.ts';
import { operatorName } from './operator.ts';

const noPasswdEntry = () => {
  throw Object.assign(new Error('A system error occurred: uv_os_get_passwd returned ENOENT (no such file or directory)'), {
    code: 'ERR_SYSTEM_ERROR',
  });
};

function refusal(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe("the operator name (the audit log's operator:<name>)", () => {
  it('is ROSTER_OPERATOR when set (surrounding spaces dropped), else SUDO_USER, else the login name', () => {
    const login = () => 'root';
    expect(operatorName({ ROSTER_OPERATOR: ' sam ', SUDO_USER: 'alice' }, login)).toBe('sam');
    expect(operatorName({ SUDO_USER: 'alice' }, login)).toBe('alice');
    expect(operatorName({ ROSTER_OPERATOR: '', SUDO_USER: 'alice' }, login)).toBe('alice');
    expect(operatorName({ SUDO_USER: ' ' }, login)).toBe('root');
    expect(operatorName({}, login)).toBe('root');
    expect(operatorName({ ROSTER_OPERATOR: 'Sam Smith' }, login)).toBe('Sam Smith');
  });

  it('refuses a blank, overlong or multi-line name with EXIT_USAGE (regression: "operator:   " was audited)', () => {
    for (const [env, message] of [
      [{ ROSTER_OPERATOR: '   ' }, 'ROSTER_OPERATOR must name you: it is blank.'],
      [{ ROSTER_OPERATOR: '\u3000' }, 'ROSTER_OPERATOR must name you: it is blank.'],
      [{ ROSTER_OPERATOR: 'x'.repeat(101) }, 'ROSTER_OPERATOR must be at most 100 characters.'],
      [{ ROSTER_OPERATOR: 'sam\nroot' }, 'ROSTER_OPERATOR must not contain control characters'],
      [{ SUDO_USER: 'x'.repeat(101) }, 'SUDO_USER must be at most 100 characters.'],
    ] as const) {
      const error = refusal(() => operatorName(env, () => 'root'));
      expect([error.exitCode, error.message]).toEqual([EXIT_USAGE, expect.stringContaining(message)]);
    }
    expect(operatorName({ ROSTER_OPERATOR: 'é'.repeat(100) }, () => 'root')).toHaveLength(100);
  });

  it('without a passwd entry for the uid, asks for ROSTER_OPERATOR with EXIT_CONFIG (regression: a SystemError stack)', () => {
    const error = refusal(() => operatorName({}, noPasswdEntry));
    expect(error.exitCode).toBe(EXIT_CONFIG);
    expect(error.message).toMatch(/^cannot tell who you are: .* has no login name \(no passwd entry\)\. Set ROSTER_OPERATOR/);
    expect(error.message).not.toContain('\n');
    // Nothing to look up when the name is given.
    expect(operatorName({ ROSTER_OPERATOR: 'sam' }, noPasswdEntry)).toBe('sam');
  });
});
