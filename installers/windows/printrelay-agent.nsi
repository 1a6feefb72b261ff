; The Windows installer of the PrintRelay store agent (NSIS 3, 64-bit Unicode). Built by
; scripts/build-installers.js, which passes:
;   VERSION   the printrelay version
;   STAGE     a folder with printrelay.exe, its node_modules/ (serialport), store-page/, nssm.exe, licences,
;             and, when the tray app was built, tray\ (see docs/installers.md)
;   OUTFILE   where to write the setup .exe
;   TRAY_EXE  (only when tray\ is staged) the tray app's executable inside tray\
;
; What it does: copies the program to Program Files\PrintRelay; keeps its data in
; ProgramData\PrintRelay (SYSTEM and Administrators only); registers the agent as the Windows
; service printrelay-agent with NSSM (starts at boot, restarted when it exits); starts the tray
; app at sign-in; asks for the relay address and enrolment code, or takes them silently:
;   printrelay-agent-setup.exe /S /RELAY=https://relay.example.com /CODE=ABCD-EFGH-JKMN
; and writes them to ProgramData\PrintRelay\enrol.json: what `printrelay agent enrol --relay
; --code` takes (the relay's API address and the one-time code).
; Uninstalling keeps the data unless asked (a question, or /REMOVEDATA when silent).
Unicode true
Target amd64-unicode
ManifestDPIAware true

!include MUI2.nsh
!include nsDialogs.nsh
!include FileFunc.nsh
!include LogicLib.nsh
!include x64.nsh

!ifndef VERSION | STAGE | OUTFILE
  !error "pass -DVERSION=... -DSTAGE=... -DOUTFILE=... (scripts/build-installers.js does)"
!endif

!define SERVICE "printrelay-agent"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\PrintRelayAgent"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
; NSIS exit code for "not installed: the relay address or enrolment code is missing or wrong".
!define EXIT_BAD_ENROLMENT 2

Name "PrintRelay"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\PrintRelay"
RequestExecutionLevel admin
ShowInstDetails show
ShowUninstDetails show
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "PrintRelay"
VIAddVersionKey /LANG=0 "FileDescription" "PrintRelay store agent setup"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "LegalCopyright" "PrintRelay"

Var DataDir
Var RelayUrl
Var EnrolCode
Var RelayField
Var CodeField
Var RemoveData

!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_WELCOME
Page custom EnrolPage EnrolPageLeave
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

; Chinese first: the installer takes the one matching Windows' display language, else Chinese.
!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

LangString EnrolTitle ${LANG_SIMPCHINESE} "连接云端"
LangString EnrolTitle ${LANG_ENGLISH} "Connect to the relay"
LangString EnrolSubtitle ${LANG_SIMPCHINESE} "填写总部给您的中继地址和门店注册码。"
LangString EnrolSubtitle ${LANG_ENGLISH} "Enter the relay address and the store enrolment code from head office."
LangString RelayLabel ${LANG_SIMPCHINESE} "中继地址 (例如 https://relay.example.com):"
LangString RelayLabel ${LANG_ENGLISH} "Relay address (e.g. https://relay.example.com):"
LangString CodeLabel ${LANG_SIMPCHINESE} "注册码:"
LangString CodeLabel ${LANG_ENGLISH} "Enrolment code:"
LangString BadRelay ${LANG_SIMPCHINESE} "中继地址应以 https:// 或 http:// 开头。"
LangString BadRelay ${LANG_ENGLISH} "The relay address must start with https:// or http://."
LangString BadCode ${LANG_SIMPCHINESE} "请填写注册码 (不含引号、反斜杠或空格)。"
LangString BadCode ${LANG_ENGLISH} "Enter the enrolment code (no quotes, backslashes or spaces)."
LangString ServiceName ${LANG_SIMPCHINESE} "PrintRelay 门店打印代理"
LangString ServiceName ${LANG_ENGLISH} "PrintRelay store agent"
LangString ServiceDescription ${LANG_SIMPCHINESE} "接收云端的小票和后厨单并在门店打印机上打印。"
LangString ServiceDescription ${LANG_ENGLISH} "Takes receipts and kitchen tickets from the relay and prints them on the store printers."
LangString AskRemoveData ${LANG_SIMPCHINESE} "同时删除打印记录和设置吗?$\r$\n(选“否”则保留,重新安装后可继续使用。)"
LangString AskRemoveData ${LANG_ENGLISH} "Also delete the print history and settings?$\r$\n(Choose No to keep them for a later reinstall.)"

; ---- checks on the relay address and code (the page and silent installs both use them) ----

; Sets $0 to the message saying what is wrong, or "" when $RelayUrl and $EnrolCode will do.
Function CheckEnrolment
  StrCpy $0 ""
  ; The relay's API address, as `printrelay agent enrol --relay` takes it.
  StrCpy $1 $RelayUrl 8
  StrCpy $2 $RelayUrl 7
  ${IfNot} $1 == "https://"
  ${AndIfNot} $2 == "http://"
    StrCpy $0 $(BadRelay)
    Return
  ${EndIf}
  ; Both go into a JSON file as they are: refuse what would need escaping there.
  StrCpy $5 "$RelayUrl$EnrolCode"
  StrLen $6 $5
  StrCpy $7 0
  ${DoWhile} $7 < $6
    StrCpy $8 $5 1 $7
    ${If} $8 == '"'
    ${OrIf} $8 == "\"
    ${OrIf} $8 == " "
      StrCpy $0 $(BadCode)
      Return
    ${EndIf}
    IntOp $7 $7 + 1
  ${Loop}
  ${If} $EnrolCode == ""
    StrCpy $0 $(BadCode)
  ${EndIf}
FunctionEnd

; Pops a switch name ("/RELAY=") and the command line; pushes the switch's value, "" if absent.
; The value runs to the next " /" (FileFunc's GetOptions stops at any "/", which URLs hold),
; and may be in double quotes.
Function SwitchValue
  Exch $0 ; name
  Exch
  Exch $1 ; command line
  Push $2
  Push $3
  Push $4
  Push $5
  StrLen $2 $0
  StrCpy $3 0
  StrCpy $5 ""
  ${Do}
    StrCpy $4 $1 $2 $3
    ${If} $4 == ""
      ${Break}
    ${EndIf}
    ${If} $4 == $0
      IntOp $3 $3 + $2
      StrCpy $1 $1 "" $3
      StrCpy $3 0
      ${Do}
        StrCpy $4 $1 2 $3
        ${If} $4 == " /"
        ${OrIf} $4 == ""
          ${Break}
        ${EndIf}
        IntOp $3 $3 + 1
      ${Loop}
      StrCpy $5 $1 $3
      ; Trailing spaces and surrounding quotes go.
      ${Do}
        StrCpy $4 $5 1 -1
        ${If} $4 != " "
          ${Break}
        ${EndIf}
        StrCpy $5 $5 -1
      ${Loop}
      StrCpy $4 $5 1
      ${If} $4 == '"'
        StrCpy $5 $5 -1 1
      ${EndIf}
      ${Break}
    ${EndIf}
    IntOp $3 $3 + 1
  ${Loop}
  StrCpy $0 $5
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
  Exch $0
FunctionEnd

Function .onInit
  SetShellVarContext all
  SetRegView 64
  ; All users: $APPDATA is ProgramData.
  StrCpy $DataDir "$APPDATA\PrintRelay"
  ${GetParameters} $R0
  Push $R0
  Push "/RELAY="
  Call SwitchValue
  Pop $RelayUrl
  Push $R0
  Push "/CODE="
  Call SwitchValue
  Pop $EnrolCode
  ; A silent install cannot ask: it needs both, unless this PC is already enrolled (an upgrade).
  ${If} ${Silent}
  ${AndIfNot} ${FileExists} "$DataDir\agent.json"
    Call CheckEnrolment
    ${If} $0 != ""
      DetailPrint $0
      SetErrorLevel ${EXIT_BAD_ENROLMENT}
      Quit
    ${EndIf}
  ${EndIf}
FunctionEnd

Function EnrolPage
  ; An upgrade keeps the enrolment it has.
  ${If} ${FileExists} "$DataDir\agent.json"
    Abort
  ${EndIf}
  !insertmacro MUI_HEADER_TEXT $(EnrolTitle) $(EnrolSubtitle)
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 12u $(RelayLabel)
  Pop $0
  ${NSD_CreateText} 0 13u 100% 13u $RelayUrl
  Pop $RelayField
  ${NSD_CreateLabel} 0 36u 100% 12u $(CodeLabel)
  Pop $0
  ${NSD_CreateText} 0 49u 100% 13u $EnrolCode
  Pop $CodeField
  nsDialogs::Show
FunctionEnd

Function EnrolPageLeave
  ${NSD_GetText} $RelayField $RelayUrl
  ${NSD_GetText} $CodeField $EnrolCode
  Call CheckEnrolment
  ${If} $0 != ""
    MessageBox MB_OK|MB_ICONEXCLAMATION $0
    Abort
  ${EndIf}
FunctionEnd

; Runs NSSM (in $INSTDIR) with `args`, its output to the install log. A generous timeout: a
; slow PC (or wine) must not cut a call short and leave the service half set up.
!macro Nssm args
  nsExec::ExecToLog /TIMEOUT=120000 '"$INSTDIR\nssm.exe" ${args}'
  Pop $0
!macroend

Section "PrintRelay"
  SetOutPath $INSTDIR
  ; An upgrade: the running agent lets go of its files first.
  ${If} ${FileExists} "$INSTDIR\nssm.exe"
    !insertmacro Nssm 'stop ${SERVICE}'
  ${EndIf}
  File /r "${STAGE}\*"

  ; The data: jobs, settings, credentials. Only SYSTEM (the service) and Administrators.
  CreateDirectory "$DataDir\logs"
  nsExec::ExecToLog 'icacls "$DataDir" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F'
  Pop $0
  ${If} $RelayUrl != ""
    FileOpen $1 "$DataDir\enrol.json" w
    FileWrite $1 '{"relayUrl":"$RelayUrl","code":"$EnrolCode"}$\r$\n'
    FileClose $1
  ${EndIf}

  ; The service: NSSM runs the agent, restarts it when it exits, and keeps its log. `install`
  ; creates it (start at boot, as LocalSystem); NSSM reads the rest from the service's
  ; Parameters key, written here directly (one process per setting is slow).
  !insertmacro Nssm 'remove ${SERVICE} confirm'
  !insertmacro Nssm 'install ${SERVICE} "$INSTDIR\printrelay.exe" agent --config "$DataDir\agent.json"'
  !insertmacro Nssm 'set ${SERVICE} DisplayName "$(ServiceName)"'
  !insertmacro Nssm 'set ${SERVICE} Description "$(ServiceDescription)"'
  !insertmacro Nssm 'set ${SERVICE} Start SERVICE_AUTO_START'
  !define PARAMETERS "SYSTEM\CurrentControlSet\Services\${SERVICE}\Parameters"
  WriteRegExpandStr HKLM "${PARAMETERS}" "AppDirectory" "$DataDir"
  WriteRegExpandStr HKLM "${PARAMETERS}" "AppStdout" "$DataDir\logs\agent.log"
  WriteRegExpandStr HKLM "${PARAMETERS}" "AppStderr" "$DataDir\logs\agent.log"
  WriteRegDWORD HKLM "${PARAMETERS}" "AppRotateFiles" 1
  WriteRegDWORD HKLM "${PARAMETERS}" "AppRotateBytes" 1048576
  WriteRegDWORD HKLM "${PARAMETERS}" "AppRestartDelay" 5000
  WriteRegStr HKLM "${PARAMETERS}\AppExit" "" "Restart"
  ; If NSSM itself dies, Windows restarts the service.
  nsExec::ExecToLog /TIMEOUT=60000 'sc.exe failure ${SERVICE} reset= 86400 actions= restart/5000/restart/5000/restart/60000'
  Pop $0

  !ifdef TRAY_EXE
    WriteRegStr HKLM "${RUN_KEY}" "PrintRelayTray" '"$INSTDIR\tray\${TRAY_EXE}"'
  !endif

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "PrintRelay"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "PrintRelay"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1

  !insertmacro Nssm 'start ${SERVICE}'
SectionEnd

Function un.onInit
  SetShellVarContext all
  SetRegView 64
  ; All users: $APPDATA is ProgramData.
  StrCpy $DataDir "$APPDATA\PrintRelay"
  StrCpy $RemoveData "0"
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/REMOVEDATA" $R1
  ${IfNot} ${Errors}
    StrCpy $RemoveData "1"
  ${ElseIfNot} ${Silent}
    MessageBox MB_YESNO|MB_ICONQUESTION|MB_DEFBUTTON2 $(AskRemoveData) IDNO +2
    StrCpy $RemoveData "1"
  ${EndIf}
FunctionEnd

Section "Uninstall"
  !insertmacro Nssm 'stop ${SERVICE}'
  !insertmacro Nssm 'remove ${SERVICE} confirm'
  nsExec::ExecToLog 'taskkill /F /IM printrelay.exe'
  Pop $0
  !ifdef TRAY_EXE
    nsExec::ExecToLog 'taskkill /F /IM ${TRAY_EXE}'
    Pop $0
    DeleteRegValue HKLM "${RUN_KEY}" "PrintRelayTray"
  !endif
  DeleteRegKey HKLM "${UNINSTALL_KEY}"

  ; Only what the installer put there.
  Delete "$INSTDIR\printrelay.exe"
  Delete "$INSTDIR\nssm.exe"
  Delete "$INSTDIR\LICENSE-*.txt"
  RMDir /r "$INSTDIR\node_modules"
  RMDir /r "$INSTDIR\store-page"
  RMDir /r "$INSTDIR\hq"
  RMDir /r "$INSTDIR\tray"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  ${If} $RemoveData == "1"
    RMDir /r "$DataDir"
  ${EndIf}
SectionEnd
