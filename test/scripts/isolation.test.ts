/**
 * The isolation anomalies of Adya, Berenson et al. and Hermitage, and the locking scenarios of
 * issue 10, as golden scripts: test/scripts/isolation/*.golden (one file per anomaly; each scenario
 * starts with `hermitage`). The expected outcomes are InnoDB's. test/scripts/README.md has the format.
 */
import { describeGoldenScripts } from './scripts.js';

describeGoldenScripts('isolation');
