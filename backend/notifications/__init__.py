"""Reminders and digests: rules (pure), channels (WeCom, DingTalk, e-mail, signed webhook), the delivery log."""
