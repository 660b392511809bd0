"""Core: pieces every room shares (identifiers, personal data, audit, i18n, HTTP plumbing)."""
