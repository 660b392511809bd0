"""Accounts room, domain functions — one import for callers outside the room. The functions live
by concern: ``lookups`` (finding accounts; password and secret hashing), ``workers`` (details,
registration, the roster, activation), ``credentials`` (password reset, change of phone),
``staff`` (staff and official accounts), ``sessions`` (log-in, sessions, disabling) and
``api_tokens``; the refusals are in ``errors``. Plain Python: none commits.
"""

from __future__ import annotations

from wzcheckin.accounts.api_tokens import (
    TOKEN_PREFIX,
    authenticate_api_token,
    issue_api_token,
    list_api_tokens,
    revoke_api_tokens,
    token_lifetime,
    token_state,
)
from wzcheckin.accounts.credentials import (
    change_phone,
    request_password_reset,
    request_phone_change,
    reset_password,
    set_phone,
)
from wzcheckin.accounts.errors import AccountError, CodeRefused, LoginRefused
from wzcheckin.accounts.lookups import (
    CARRIERS,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    _new_user,
    find_user_by_phone,
    find_worker_by_id_number,
    hash_password,
    id_number_hash,
    password_problem,
    phone_hash,
)
from wzcheckin.accounts.sessions import (
    SESSION_TOUCH_INTERVAL,
    SessionPolicy,
    authenticate,
    disable_user,
    enable_user,
    end_all_sessions,
    end_session,
    load_session,
    start_session,
)
from wzcheckin.accounts.staff import (
    STAFF_CHECKPOINT_KIND,
    STAFF_EXTRA_CHECKPOINT_KINDS,
    create_or_update_staff,
)
from wzcheckin.accounts.workers import (
    CleanWorkerDetails,
    WorkerDetails,
    WorkingAge,
    activate_worker,
    clean_worker_details,
    register_worker,
    request_activation_code,
    request_registration_code,
    retained_worker_problem,
    upsert_roster_worker,
)

__all__ = [
    "CARRIERS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SESSION_TOUCH_INTERVAL",
    "STAFF_CHECKPOINT_KIND",
    "STAFF_EXTRA_CHECKPOINT_KINDS",
    "TOKEN_PREFIX",
    "AccountError",
    "CleanWorkerDetails",
    "CodeRefused",
    "LoginRefused",
    "SessionPolicy",
    "WorkerDetails",
    "WorkingAge",
    "_new_user",
    "activate_worker",
    "authenticate",
    "authenticate_api_token",
    "change_phone",
    "clean_worker_details",
    "create_or_update_staff",
    "disable_user",
    "enable_user",
    "end_all_sessions",
    "end_session",
    "find_user_by_phone",
    "find_worker_by_id_number",
    "hash_password",
    "id_number_hash",
    "issue_api_token",
    "list_api_tokens",
    "load_session",
    "password_problem",
    "phone_hash",
    "register_worker",
    "request_activation_code",
    "request_password_reset",
    "request_phone_change",
    "request_registration_code",
    "reset_password",
    "retained_worker_problem",
    "revoke_api_tokens",
    "set_phone",
    "start_session",
    "token_lifetime",
    "token_state",
    "upsert_roster_worker",
]
