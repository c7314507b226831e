# Configures the service on a Windows host.
$ErrorActionPreference = 'Stop'
$dir = Join-Path $env:ProgramData 'Service'
New-Item -ItemType Directory -Force -Path $dir | Out-Null
Copy-Item -Path .\service.exe -Destination $dir
Set-ItemProperty -Path 'HKLM:\SOFTWARE\Service' -Name 'Path' -Value $dir
Write-Host "installed to $dir"
