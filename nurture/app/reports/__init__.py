"""Read models that span domains, for the console and the CLI: one contact's whole record
(consent, journeys, sends, events), and the email report (sends, hits, trials started).
They sit above the domains they read, so that no domain reads another's rows."""
