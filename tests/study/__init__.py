"""Tests of the study: fastweights_study, the scripts in tuning/, and the
committed results and documents."""
