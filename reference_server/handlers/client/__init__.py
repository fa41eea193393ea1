# SPDX-License-Identifier: Apache-2.0
"""Client-server handlers: one class per api/client-server document (or close family)."""
