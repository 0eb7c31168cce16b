from domain.cli import main

main()
