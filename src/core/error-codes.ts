// The stable error codes of the API and their HTTP statuses: part of the contract, so they live in
// core (which depends on nothing) and both the domain (AppError) and HTTP read them from here.
/** The one table from error code to HTTP status. Routes never choose error statuses. */
export const ERROR_STATUS = {
  // 400
  invalid_request: 400,
  invalid_name: 400,
  invalid_activity: 400,
  invalid_quantity: 400,
  invalid_page_size: 400,
  invalid_email: 400,
  weak_password: 400,
  invalid_token: 400,
  invalid_slug: 400,
  invalid_cursor: 400,
  invalid_seats: 400,
  invalid_limit: 400,
  invalid_plan: 400,
  cannot_change_own_role: 400,
  cannot_remove_self: 400,
  cannot_disable_self: 400,
  already_owner: 400,
  plan_not_self_serve: 400,
  bulk_limit_exceeded: 400,
  invalid_settings: 400,
  invalid_signature: 400,
  invalid_storage_key: 400,
  // 401
  unauthenticated: 401,
  invalid_credentials: 401,
  // 402
  subscription_required: 402,
  // 403
  forbidden: 403,
  csrf_failed: 403,
  user_disabled: 403,
  cannot_change_owner: 403,
  cannot_remove_owner: 403,
  cannot_disable_owner: 403,
  member_of_org: 403,
  enterprise_managed: 403,
  email_mismatch: 403,
  email_not_verified: 403,
  project_read_only: 403,
  // 404
  not_found: 404,
  not_a_member: 404,
  token_not_found: 404,
  invite_not_found: 404,
  user_not_found: 404,
  org_not_found: 404,
  project_not_found: 404,
  not_a_project_member: 404,
  no_subscription: 404,
  // 409
  email_taken: 409,
  slug_taken: 409,
  already_in_org: 409,
  last_admin: 409,
  owner_must_transfer: 409,
  member_disabled: 409,
  already_member: 409,
  invite_pending: 409,
  seat_limit: 409,
  seats_below_usage: 409,
  last_editor: 409,
  subscription_exists: 409,
  // 410
  invite_expired: 410,
  // 413
  payload_too_large: 413,
  storage_limit: 413,
  // 415
  unsupported_media_type: 415,
  // 429
  rate_limited: 429,
  usage_limit_exceeded: 429,
  // 500
  internal: 500,
  // 502
  billing_provider_unavailable: 502,
  // 503
  database_unavailable: 503,
  not_ready: 503,
} as const satisfies Record<string, number>;

/** Every error code Roster answers with: a code outside the table does not compile. */
export type ErrorCode = keyof typeof ERROR_STATUS;
