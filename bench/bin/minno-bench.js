#!/usr/bin/env node
// The `minno-bench` command (package.json "bin"): bench/cli.ts, run through tsx's loader (a
// devDependency: the harness runs from a checkout of minno, next to the engines it compares).
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
