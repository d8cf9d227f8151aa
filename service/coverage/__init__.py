"""Coverage figures: the rules, the SQL that counts, the reports and the routes."""
