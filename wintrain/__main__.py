from wintrain.cli import main

main()
