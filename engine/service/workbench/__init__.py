"""The web workbench at `/`: try a ticket, its timeline, the rendered regulation, the diff report.

Owns `app` (the routes and the Workbench state), `pages` (HTML), `form` (the ticket form and the share
link codec), `timeline` (the business-time picture), `static/`. May import `slapolicy.service.http`,
`slapolicy.service.render` and everything the service may; never `slapolicy.service.app`.
"""
