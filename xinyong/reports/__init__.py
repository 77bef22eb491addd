"""Subject services built on the profile: signed credit reports and credit codes."""
