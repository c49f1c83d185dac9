from nurture.app.cli import main

main()
