// Every user-controlled value goes through escapeHtml in HTML bodies. Subjects and recipients
// are passed to nodemailer as separate fields, which encodes them, so no value can add a header.

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Strips line breaks from values placed in a subject line. */
export function oneLine(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
}

export function layout(input: {
  title: string;
  bodyHtml: string;
  buttonLabel: string;
  buttonUrl: string;
  footer: string;
}): string {
  const url = escapeHtml(input.buttonUrl);
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(input.title)}</title></head>
<body style="margin:0;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2330">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:32px 16px">
<table role="presentation" width="100%" style="max-width:520px;background:#ffffff;border-radius:12px;padding:32px" cellpadding="0" cellspacing="0">
<tr><td style="font-size:20px;font-weight:700;color:#4f46e5;padding-bottom:24px">Roster</td></tr>
<tr><td style="font-size:16px;line-height:1.5">${input.bodyHtml}</td></tr>
<tr><td style="padding:28px 0"><a href="${url}" style="display:inline-block;background:#4f46e5;color:#ffffff;text-decoration:none;font-weight:600;padding:12px 24px;border-radius:8px">${escapeHtml(input.buttonLabel)}</a></td></tr>
<tr><td style="font-size:13px;color:#6b7280;line-height:1.5">If the button does not work, paste this link into your browser:<br><a href="${url}" style="color:#4f46e5;word-break:break-all">${url}</a></td></tr>
<tr><td style="font-size:13px;color:#6b7280;padding-top:16px">${escapeHtml(input.footer)}</td></tr>
</table></td></tr></table></body></html>`;
}

export function verificationEmail(input: { name: string; link: string }): { subject: string; text: string; html: string } {
  const subject = 'Confirm your email address for Roster';
  const text = `Hi ${oneLine(input.name)},\n\nConfirm your email address by opening this link:\n${input.link}\n\nThe link is valid for 7 days. If you did not sign up for Roster, ignore this email.\n`;
  const html = layout({
    title: subject,
    bodyHtml: `<p>Hi ${escapeHtml(input.name)},</p><p>Confirm your email address to finish setting up your Roster account.</p>`,
    buttonLabel: 'Confirm email',
    buttonUrl: input.link,
    footer: 'The link is valid for 7 days. If you did not sign up for Roster, ignore this email.',
  });
  return { subject, text, html };
}

export function passwordResetEmail(input: { name: string; link: string }): { subject: string; text: string; html: string } {
  const subject = 'Reset your Roster password';
  const footer = 'The link works once, for one hour. If you did not ask for it, ignore this email: your password stays as it is.';
  const text = `Hi ${oneLine(input.name)},\n\nSet a new password for your Roster account by opening this link:\n${input.link}\n\n${footer}\n`;
  const html = layout({
    title: subject,
    bodyHtml: `<p>Hi ${escapeHtml(input.name)},</p><p>Someone, hopefully you, asked to reset the password of your Roster account.</p>`,
    buttonLabel: 'Set a new password',
    buttonUrl: input.link,
    footer,
  });
  return { subject, text, html };
}

/**
 * The notice after a signed-in user changed their password: if it was not them, the way back is a
 * reset link (the account's address still receives it), so the button opens the reset page.
 */
export function passwordChangedEmail(input: { name: string; resetUrl: string }): { subject: string; text: string; html: string } {
  const subject = 'Your Roster password was changed';
  const footer = 'If you changed it, there is nothing to do.';
  const text =
    `Hi ${oneLine(input.name)},\n\nThe password of your Roster account was just changed, and every other session of the account was signed out.\n\n` +
    `If this was not you, set a new password now:\n${input.resetUrl}\n\n${footer}\n`;
  const html = layout({
    title: subject,
    bodyHtml:
      `<p>Hi ${escapeHtml(input.name)},</p><p>The password of your Roster account was just changed, and every other ` +
      'session of the account was signed out.</p><p>If this was not you, set a new password now.</p>',
    buttonLabel: 'Reset your password',
    buttonUrl: input.resetUrl,
    footer,
  });
  return { subject, text, html };
}

const EXPIRY_FORMAT = new Intl.DateTimeFormat('en-US', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' });

/** "Friday, November 28, 2025 at 9:30 AM UTC": invitations say exactly when their link stops working. */
export function formatExpiry(date: Date): string {
  return `${EXPIRY_FORMAT.format(date)} UTC`;
}

export function invitationEmail(input: {
  orgName: string;
  inviterName: string;
  role: 'admin' | 'member';
  link: string;
  expiresAt: Date;
}): { subject: string; text: string; html: string } {
  // Names are user-controlled: one line each in the subject and text, escaped in HTML.
  const org = oneLine(input.orgName);
  const inviter = oneLine(input.inviterName);
  const roleLabel = input.role === 'admin' ? 'an admin' : 'a member';
  const expiry = formatExpiry(input.expiresAt);
  const subject = `${inviter} invited you to join ${org} on Roster`;
  const text =
    `Hi,\n\n${inviter} invited you to join ${org} on Roster as ${roleLabel}.\n\n` +
    `Get Started: ${input.link}\n\n` +
    `This invitation expires on ${expiry}. If you were not expecting it, you can ignore this email.\n`;
  const html = layout({
    title: subject,
    bodyHtml:
      `<p>Hi,</p><p><strong>${escapeHtml(inviter)}</strong> invited you to join ` +
      `<strong>${escapeHtml(org)}</strong> on Roster as ${roleLabel}.</p>` +
      `<p>This invitation expires on ${escapeHtml(expiry)}.</p>`,
    buttonLabel: 'Get Started',
    buttonUrl: input.link,
    footer: 'If you were not expecting this invitation, you can ignore this email.',
  });
  return { subject, text, html };
}

/** The low-balance warning to an org's owners and admins: 80% of the month's allocation used, or all of it. */
export function allocationEmail(input: {
  orgName: string;
  level: 'low' | 'exhausted';
  used: number;
  monthly: number;
  resetsAt: Date;
  link: string;
}): { subject: string; text: string; html: string } {
  const org = oneLine(input.orgName);
  const resets = formatExpiry(input.resetsAt);
  const subject =
    input.level === 'low'
      ? `${org} has used 80% of its monthly usage allocation`
      : `${org} has used all of its monthly usage allocation`;
  const state =
    input.level === 'low'
      ? `${org} has used ${input.used} of its ${input.monthly} monthly usage credits.`
      : `${org} has used all ${input.monthly} of its monthly usage credits: members' usage is refused until the allocation resets.`;
  const advice = `The allocation resets on ${resets}. Add seats (Team) or contact Roster support (Enterprise) to raise it.`;
  const text = `Hi,\n\n${state}\n\n${advice}\n\nBilling settings: ${input.link}\n`;
  const html = layout({
    title: subject,
    bodyHtml: `<p>Hi,</p><p>${escapeHtml(state)}</p><p>${escapeHtml(advice)}</p>`,
    buttonLabel: 'Billing settings',
    buttonUrl: input.link,
    footer: 'You receive this because you are an owner or admin of the organization.',
  });
  return { subject, text, html };
}
