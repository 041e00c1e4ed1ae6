# This migration needs no input variables.
