# Runs the package tests. The client tests start a real readmitd; they need READMITD_BIN and
# READMIT_TEST_MODEL (scripts/tests/40-r.sh sets them) and are skipped, with a message, without.
library(testthat)
library(readmit)

test_check("readmit")
