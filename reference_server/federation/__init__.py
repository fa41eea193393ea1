# SPDX-License-Identifier: Apache-2.0
"""Federation: server keys, request authentication, discovery, and the outbound client."""
