"""Building blocks of every PDF fieldlog issues: the embedded CJK font, the page frame, the QR code, the signature."""
