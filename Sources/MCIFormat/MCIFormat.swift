// MCIFormat module
