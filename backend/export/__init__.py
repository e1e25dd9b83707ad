"""Evidence export (证明): HR's PDF/XLSX/CSV of an expert's approved work, each with a public verification code."""
