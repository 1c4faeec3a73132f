from kubectl_podfix.cli import main

main()
