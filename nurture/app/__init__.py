"""The roof: what builds and runs the installation.

The composition root (`composition`, which builds the `runtime`), the actors (`tasks`),
the scheduler loop, the CLI, the demo, the benches and the reports that span domains.
Nothing below the roof imports from here; the ground (`nurture.db`, `config`, `events`,
`contacts`, `consent`, `sending`...) and the domains (`journeys`, `scoring`, `referral`,
`nurture.trials`, `nurture.nps`, `nurture.landing`) receive what they need as arguments.
"""
