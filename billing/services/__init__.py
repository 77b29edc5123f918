"""Every write of the billing app, one module per subject: `subscriptions` (THE state
machine of CONTRACT §12 — the only place a tier changes), `checkout` (hosted payment
pages for Pro and credit packs, cancel), `webhooks` (Checkout.com events, stored once
per event id), `renewals` (`check_subscriptions`). Import the module you need.

`subscription_grant_pro` / `subscription_revoke_pro` are re-exported here because staff
actions and `issue_token --pro` have always imported them from `billing.services`.
"""

from billing.services.subscriptions import subscription_grant_pro, subscription_revoke_pro

__all__ = ["subscription_grant_pro", "subscription_revoke_pro"]
