"""Accounts room: finding accounts by phone and ID number (keyed hashes), and what every
account function shares — password rules and hashing, secret hashing, a new account row."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from wzcheckin.accounts.models import User, Worker
from wzcheckin.core.identity import (
    mask_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.roles import Role

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128

CARRIERS = ("china_mobile", "china_unicom", "china_telecom")


def phone_hash(vault: PersonalDataVault, phone: str) -> str:
    return vault.lookup_hash("phone", phone)


def id_number_hash(vault: PersonalDataVault, id_number: str) -> str:
    return vault.lookup_hash("id", id_number)


def find_user_by_phone(session: Session, vault: PersonalDataVault, phone: str) -> User | None:
    return session.scalar(sa.select(User).where(User.phone_hash == phone_hash(vault, phone)))


def find_worker_by_id_number(session: Session, vault: PersonalDataVault, id_number: str) -> Worker | None:
    return session.scalar(sa.select(Worker).where(Worker.id_number_hash == id_number_hash(vault, id_number)))


def password_problem(password: str | None, phone: str | None = None) -> str | None:
    if not password:
        return "required"
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "password_too_long"
    if phone and phone in password:
        return "password_contains_phone"
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, werkzeug's default



def _new_user(vault: PersonalDataVault, role: Role, phone: str, now: datetime, *,
              password: str | None = None, display_name: str = "") -> User:
    return User(
        role=role,
        phone_hash=phone_hash(vault, phone),
        phone_encrypted=vault.encrypt(phone),
        phone_masked=mask_phone(phone),
        password_hash=hash_password(password) if password else None,
        display_name=display_name,
        created_at=now,
        failed_logins=0,
    )


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
