from tagfeed.cli import main

main()
