from okta_alerts.cli import main

main()
