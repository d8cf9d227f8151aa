"""The coordinator's workspace (`/redaktion`): server-rendered pages over the one write path.

Overview, edit form with a preview of the coverage effect, conflicts, history and restore; every
write goes through `service.features.writes`, so the API's checks and change log apply unchanged.
"""
