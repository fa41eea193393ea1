# SPDX-License-Identifier: Apache-2.0
"""Loads the suite's pytest plugin (targeting options, `hs` fixture, results file)."""

pytest_plugins = ["tests.harness.plugin"]
