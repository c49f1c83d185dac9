"""Page visits on the customer's own website: the visitor id that email clicks carry to the
site, and the `page.visited` events its tracking script reports (docs/visits.md)."""
