"""``pointkit_expire``: the expiry job."""
