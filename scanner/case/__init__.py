"""The case workflow after a scan: examiner verdicts (review), the signed case bundle, re-test comparison."""
