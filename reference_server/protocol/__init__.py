# SPDX-License-Identifier: Apache-2.0
"""The pure room model: canonical JSON, signing, hashes, event IDs, room versions,
redaction, authorisation rules and state resolution.

Nothing here does I/O or awaits anything, so every rule can be unit-tested against the
specification's worked examples and reused by storage, federation and client code alike.
"""
