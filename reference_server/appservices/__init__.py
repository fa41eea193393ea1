# SPDX-License-Identifier: Apache-2.0
"""Application services: registrations, namespaces, identity, and pushing to them."""
