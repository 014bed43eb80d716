import ArgumentParser

MCINRTool.main()
