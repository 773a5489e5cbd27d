from handslag.cli import main

main()
