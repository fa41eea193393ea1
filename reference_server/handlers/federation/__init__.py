# SPDX-License-Identifier: Apache-2.0
"""Server-server handlers: one class per api/server-server document family."""
