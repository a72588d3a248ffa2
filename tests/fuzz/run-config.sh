#!/bin/sh
# SPDX-License-Identifier: MIT
# Fuzz the config target briefly (see fuzz.sh).
exec sh "$(dirname "$0")/fuzz.sh" config "$@"
