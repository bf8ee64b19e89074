"""What every screen shares: start, sign-in session, outages, links, feedback."""
