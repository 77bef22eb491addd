"""Notifications (通知): an outbox with retries, delivered in-app, by e-mail and by webhook."""
