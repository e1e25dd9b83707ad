"""End-of-stay appraisal (派驻期满考核鉴定): self-assessment, the recipient's rating, the home HR's countersignature."""
